"""What the node's HTTP faces share: the request pipeline (``http/pipeline.py``)."""
