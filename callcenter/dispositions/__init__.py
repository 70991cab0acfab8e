"""Dispositions: what agents record after a call (or without one), the
answers to the campaign's form, and the customer history they make."""
