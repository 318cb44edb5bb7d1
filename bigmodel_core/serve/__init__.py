"""Loading saved runs for prediction."""
