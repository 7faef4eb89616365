// BeaconRuntime
