"""planeco levers service: territories, levers, panoramas of objectives, conversions, declination."""
