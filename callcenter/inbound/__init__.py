"""Inbound calls end to end: the IVR's calls recorded as InboundCall rows,
routed to the caller's queue or last agent, recorded, popped on the agent's
screen, answered as Call rows with a disposition owed, call-backs as work
items, and the post-call survey (its NPS report: ``callcenter.reports.nps``)."""
