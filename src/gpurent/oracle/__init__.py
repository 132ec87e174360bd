"""The oracle: heartbeats, data-possession challenges, validation reports and disputes."""
