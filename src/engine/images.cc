// Placeholder until the first engine file lands.
