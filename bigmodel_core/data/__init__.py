"""Datasets: built-in sets, uploads, downloads, and the text pipeline."""
