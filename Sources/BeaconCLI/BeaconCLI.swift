// BeaconCLI
