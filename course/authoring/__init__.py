"""What course authors run: ``python -m course release`` and its parts."""
