"""The residual expansion (Dherin & Munn 2025): paths, truncations, signal growth."""
