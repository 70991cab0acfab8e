"""The head count pulled from the client's HR system: an HTTP JSON source set
by an admin, fetched daily and on demand, each fetch validated and committed
through the head-count import (callcenter/headcount)."""
