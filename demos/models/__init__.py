"""Model code the gallery implements itself (independent reimplementations of published models)."""
