"""Microsoft Teams: the same digest and self-service as Slack, on the Microsoft 365 Agents SDK."""
