"""Platform adapters. Each translates one chat platform to the core's events and back."""
