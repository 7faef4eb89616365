// ZoneFile
