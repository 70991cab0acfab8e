"""Several ``serve`` processes on one Redis and one database as one system:
leases with fencing tokens (lease.py), the loops run once per system and the
call work of each Asterisk done by one owner (duties.py), the owner's token
checked by the database (fencing.py)."""
