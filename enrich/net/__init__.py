"""What every service client shares: HTTP policy and exchange, the retry policy, rate gates."""
