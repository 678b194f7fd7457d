"""One module per measured path; each returns figures beside their reference."""
