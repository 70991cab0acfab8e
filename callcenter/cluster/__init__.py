"""Several ``serve`` processes of one system on one host, behind nginx:
``callcenter cluster`` (run.py), the servers' config copies (copies.py) and
nginx's config (nginx.py)."""
