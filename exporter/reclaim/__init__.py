"""Reclaiming idle seats: the policy, the plan, its application and the audit log."""
