import BeaconCLI
import PosixIO

Posix.exit(CommandLineTool.main(CommandLine.arguments, environment: Posix.environment()))
