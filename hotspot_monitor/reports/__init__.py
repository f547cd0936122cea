"""Reports built from the stores: the monthly partner report and its pieces."""
