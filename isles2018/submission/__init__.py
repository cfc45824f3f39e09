"""Challenge submissions: checks of a prediction folder, and packaging into a zip."""
