"""A throwaway fourth data source, to show that a source is one subpackage and one registry line.

It reads each organization's Copilot billing summary from the fake GitHub (the same endpoint the seat
source reads, parsed here in its own small way), keeps the seat total as its snapshot, and exposes
``github_copilot_fourth_seats``. Its section is ``fourth:`` (``enabled``, ``poll_interval``,
``scale``), its flag ``--fourth.enabled``. Nothing outside this package names it; a test registers it.
"""
