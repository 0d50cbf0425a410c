"""Two small client programs the gauntlet tests grade: one well-behaved, one careless."""
