"""Gift certificates' storage: types, certificates, their entries and spends."""
