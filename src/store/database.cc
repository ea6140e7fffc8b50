// Placeholder until the first store file lands.
