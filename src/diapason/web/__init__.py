"""The HTTP surface: ``create_app(settings)`` composes it."""
