// Leases
