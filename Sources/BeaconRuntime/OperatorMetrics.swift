import EtcdStore
import Journal
import Leases
import PosixIO
import Synchronization

/// The `/metrics` families beyond DNS, HTTP and the table: the build, the process, and the store's
/// own health (what an operator alerts on before a user notices).
enum OperatorMetrics {
    static func build(startedAtSeconds: Double) -> @Sendable (inout MetricsText) -> Void {
        { metrics in
            metrics.family(
                "beacon_build_info", "gauge", "The running build: always 1, with the version and git commit as labels.",
                [("version=\"\(BuildInfo.version)\",commit=\"\(BuildInfo.commit)\"", "1")])
            metrics.family(
                "process_start_time_seconds", "gauge", "When the process started, in seconds since 1970.",
                [("", String(Int64(startedAtSeconds)))])
            let figures = ProcessFigures.current()
            metrics.single("process_resident_memory_bytes", "gauge", "Resident memory.", figures.residentBytes)
            metrics.single("process_open_fds", "gauge", "Open file descriptors.", figures.openDescriptors)
            metrics.single("process_max_fds", "gauge", "The limit on open file descriptors.", figures.maximumDescriptors)
            metrics.single("beacon_process_threads", "gauge", "Threads in the process.", figures.threads)
        }
    }

    static func reloads(_ counters: ReloadCounters) -> @Sendable (inout MetricsText) -> Void {
        { metrics in
            metrics.single(
                "beacon_reloads_total", "counter", "Reloads of the zone and token files that took effect.",
                counters.successes.load(ordering: .relaxed))
            metrics.single(
                "beacon_reload_failures_total", "counter",
                "Reloads refused because a file failed to load (the previous files stay in force).",
                counters.failures.load(ordering: .relaxed))
            metrics.single(
                "beacon_reload_last_success_timestamp_seconds", "gauge", "When the last reload took effect (0: none yet).",
                counters.lastSuccessSeconds.load(ordering: .relaxed))
        }
    }

    static func journal(_ store: JournalStore) -> @Sendable (inout MetricsText) -> Void {
        { metrics in
            let counters = store.counters
            metrics.single(
                "beacon_journal_writable", "gauge", "1 while the journal takes writes, 0 while it refuses them (503).",
                store.unavailableReason == nil ? 1 : 0)
            metrics.histogram("beacon_journal_fsync_seconds", "How long each fdatasync of the journal took.", counters.syncLatency)
            let totals: [(String, String, UInt64)] = [
                ("beacon_journal_failed_writes_total", "Batches refused because a write or fsync failed.", counters.failedBatches.load(ordering: .relaxed)),
                ("beacon_journal_bytes_total", "Bytes appended to the journal.", counters.bytes.load(ordering: .relaxed)),
                ("beacon_journal_records_total", "Registrations and deregistrations journaled.", counters.records.load(ordering: .relaxed)),
                ("beacon_journal_marks_total", "Liveness marks written on their own.", counters.marks.load(ordering: .relaxed)),
                ("beacon_journal_compactions_total", "Snapshots written.", counters.compactions.load(ordering: .relaxed)),
                (
                    "beacon_journal_compaction_failures_total", "Compactions that failed or were postponed.",
                    counters.compactionFailures.load(ordering: .relaxed)
                ),
            ]
            for (name, help, value) in totals { metrics.single(name, "counter", help, value) }
            metrics.seconds(
                "beacon_journal_last_compaction_seconds", "gauge", "How long the last compaction took.",
                nanoseconds: counters.lastCompactionNanoseconds.load(ordering: .relaxed))
            metrics.seconds(
                "beacon_journal_last_compaction_pause_seconds", "gauge",
                "How long the last compaction held the table's lock to copy it.",
                nanoseconds: counters.lastCompactionPauseNanoseconds.load(ordering: .relaxed))
            let recovery = store.recovery
            metrics.seconds(
                "beacon_journal_recovery_seconds", "gauge", "How long recovery took at start.", nanoseconds: recovery.nanoseconds)
            metrics.single(
                "beacon_journal_recovery_records", "gauge", "Journal records replayed at start.", recovery.journalRecords)
            metrics.single(
                "beacon_journal_recovery_left_out", "gauge",
                "Recovered registrations left out at start: ended before the stop, or possibly deregistered in damage.",
                recovery.endedBeforeStop + recovery.unconfirmedAfterDamage)
            metrics.single(
                "beacon_journal_damaged_files", "gauge", "Damaged files moved aside at start.", recovery.corruptFiles.count)
        }
    }

    /// The etcd store (issue 17): which member the node follows, whether its watch is up, and what
    /// keeping the mirror and the leases costs etcd.
    static func etcd(_ store: EtcdStore, clock: @escaping @Sendable () -> Instant) -> @Sendable (inout MetricsText) -> Void {
        { metrics in
            let counters = store.metrics
            let watch = counters.watchMember.load(ordering: .relaxed)
            var members: [(labels: String, value: String)] = []
            for (index, member) in counters.endpoints.enumerated() {
                members.append(("member=\"\(member)\",role=\"watch\"", index == watch ? "1" : "0"))
            }
            metrics.family("beacon_etcd_member", "gauge", "1 for the member the watch follows.", members)
            metrics.single(
                "beacon_etcd_watch_up", "gauge", "1 while the mirror follows a watch, 0 while it is lost (writes answer 503).",
                store.unavailableReason == nil ? 1 : 0)
            let totals: [(String, String, UInt64)] = [
                ("beacon_etcd_resyncs_total", "Full re-reads of the prefix: one at start, then one per lost watch.", counters.resyncs.load(ordering: .relaxed)),
                (
                    "beacon_etcd_cover_leases_granted_total", "Cover leases granted (one per marker epoch and instance TTL in use).",
                    counters.coverLeasesGranted.load(ordering: .relaxed)
                ),
                (
                    "beacon_etcd_markers_published_total", "Renewal markers this node put for the other nodes.",
                    counters.markersPublished.load(ordering: .relaxed)
                ),
                (
                    "beacon_etcd_marker_failures_total", "Renewal markers or cover leases that could not be written.",
                    counters.markerFailures.load(ordering: .relaxed)
                ),
                ("beacon_etcd_markers_applied_total", "Renewal markers of other nodes applied here.", counters.markersApplied.load(ordering: .relaxed)),
                (
                    "beacon_etcd_renewals_learned_total", "Instances extended by other nodes' renewal markers.",
                    counters.renewalsLearned.load(ordering: .relaxed)
                ),
                (
                    "beacon_etcd_cover_lookups_total", "timetolive reads of cover leases (named by new keys and markers).",
                    counters.leaseLookups.load(ordering: .relaxed)
                ),
                (
                    "beacon_etcd_keys_collected_total", "Keys of ended instances this node deleted from etcd.",
                    counters.keysCollected.load(ordering: .relaxed)
                ),
            ]
            for (name, help, value) in totals { metrics.single(name, "counter", help, value) }
            metrics.family(
                "beacon_etcd_heartbeats_total", "counter",
                "Heartbeats accepted, answered at once under the current cover lease or after granting one.",
                [
                    ("answered=\"at_once\"", String(counters.heartbeatsAnsweredAtOnce.load(ordering: .relaxed))),
                    ("answered=\"after_grant\"", String(counters.heartbeatsWaited.load(ordering: .relaxed))),
                ])
            metrics.seconds(
                "beacon_etcd_mirror_lag_seconds", "gauge",
                "How long the watch took to deliver this node's latest write, or how long the oldest undelivered one has waited.",
                nanoseconds: counters.lag.nanoseconds(now: clock()))
        }
    }
}
