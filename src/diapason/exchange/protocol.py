"""Protocol constants shared by this node's server and its sync agent: TAXII 2.1, and
the witness of audit trails."""

# The media type of every TAXII 2.1 request and answer (TAXII 2.1 section 1.6.8).
TAXII = "application/taxii+json;version=2.1"
# The media type of STIX 2.1 content.
STIX_MEDIA = "application/stix+json;version=2.1"
# Where a node keeps the heads of its partners' audit trails: a partner posts its head
# there and reads back what was witnessed (exchange/witness.py, web/witness_api.py).
WITNESS_PATH = "/api/v1/audit/witness"
# The custom property of this node's TAXII discovery resource that states its STIX identity
# (TAXII 2.1 allows custom properties on its resources); partners' sync agents read it to
# attribute what this node authors (exchange/partners.py).
IDENTITY_PROPERTY = "x_diapason_identity"
