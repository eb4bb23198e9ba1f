"""TAXII 2.1 protocol constants shared by this node's server and its sync agent."""

# The media type of every TAXII 2.1 request and answer (TAXII 2.1 section 1.6.8).
TAXII = "application/taxii+json;version=2.1"
# The media type of STIX 2.1 content.
STIX_MEDIA = "application/stix+json;version=2.1"
