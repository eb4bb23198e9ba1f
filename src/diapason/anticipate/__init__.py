"""Anticipation: event series, forecasts, backtests and early-warning alerts."""
