"""Loading reference and demo data into the database."""
