//! rvnet-vmtest: the tests that need the real module in a real kernel.
//!
//! Runs inside the guest (as `qemu/run --load -- rvnet-vmtest`), with rvnet.ko inserted, and
//! prints TAP: `ok N - name` or `not ok N - name` with the reason, then a summary. Exits 1 if
//! any test failed. `rvnet-vmtest NAME...` runs only the named tests; `--list` lists them.
//!
//! Every test leaves the module loaded as it found it, so that tests can run in any order.
//! Tests run in child processes, up to `-j N` at once (default 1, or `RVNET_VMTEST_JOBS`);
//! those marked `[alone]` run first, one at a time (see `harness`).

mod af_rvnet;
mod bench_tools;
mod harness;
mod module;
mod netlink;
mod rvnic;
mod tools;
mod topo;

use harness::{Mode, Test};

/// Builds the test table from `name => function` pairs; `[alone]` after one marks a test
/// that may not run beside others.
macro_rules! tests {
    ($($name:ident => $f:path $([$mode:ident])?),* $(,)?) => {
        &[$(Test { name: stringify!($name), run: $f, mode: tests!(@mode $($mode)?) }),*]
    };
    (@mode) => { Mode::Shared };
    (@mode alone) => { Mode::Alone };
}

/// Every test, in the order they run.
const TESTS: &[Test] = tests![
    module_is_live => module::is_live [alone],
    module_version_matches => module::version_matches [alone],
    param_selftest_visible => module::param_selftest_visible [alone],
    load_logged_with_version => module::load_logged_with_version [alone],
    reload_with_selftest_off => module::reload_with_selftest_off [alone],
    bad_param_refused => module::bad_param_refused [alone],
    family_param_chooses_the_number => module::family_param_chooses_the_number [alone],
    kunit_suite_passed_in_guest => module::kunit_suite_passed [alone],
    rvnic_autoload_and_pair => rvnic::autoload_and_pair [alone],
    rvnic_ping_both_ways_v4_v6 => rvnic::ping_both_ways_v4_v6,
    rvnic_tcp_verified_with_gso_on_wire => rvnic::tcp_verified_with_gso_on_wire,
    rvnic_udp_both_ways_with_fragments => rvnic::udp_both_ways_with_fragments,
    rvnic_ethtool_queries => rvnic::ethtool_queries,
    rvnic_changes_under_traffic => rvnic::changes_under_traffic,
    rvnic_backpressure_without_lost_wakeup => rvnic::backpressure_without_lost_wakeup,
    rvnic_carrier_follows_peer => rvnic::carrier_follows_peer,
    rvnic_mtu_range_and_drops => rvnic::mtu_range_and_drops,
    rvnic_sixteen_pairs => rvnic::sixteen_pairs,
    rvnic_pairs_parameter => rvnic::pairs_parameter [alone],
    rvnic_queue_stats_over_netlink => rvnic::queue_stats_over_netlink,
    rvnic_rmmod_under_traffic => rvnic::rmmod_under_traffic [alone],
    rvnet_family_param_visible => af_rvnet::family_param_visible [alone],
    rvnet_linux_pings_rvnet => af_rvnet::linux_pings_rvnet,
    rvnet_raw_socket_pings_linux => af_rvnet::raw_socket_pings_linux,
    rvnet_udp_with_linux_both_ways => af_rvnet::udp_with_linux_both_ways,
    rvnet_udp_fragments_interoperate => af_rvnet::udp_fragments_interoperate,
    rvnet_socket_errnos_match_inet => af_rvnet::socket_errnos_match_inet,
    rvnet_blocked_readers_woken => af_rvnet::blocked_readers_woken,
    rvnet_full_receive_queue_counted => af_rvnet::full_receive_queue_counted,
    rvnet_port_unreachable_to_linux => af_rvnet::port_unreachable_to_linux,
    rvnet_unprivileged_user_refused => af_rvnet::unprivileged_user_refused,
    rvnet_arp_ageing_static_and_reverse => af_rvnet::arp_ageing_static_and_reverse,
    rvnet_routing_via_linux_gateway => af_rvnet::routing_via_linux_gateway,
    rvnet_malformed_frames_dropped_and_counted => af_rvnet::malformed_frames_dropped_and_counted,
    rvnet_two_rvnet_stacks_talk => af_rvnet::two_rvnet_stacks_talk,
    rvnet_proc_lists_sockets_and_tables => af_rvnet::proc_lists_sockets_and_tables,
    rvnet_control_requests_checked => af_rvnet::control_requests_checked,
    rvnet_proxy_arp_answers => af_rvnet::proxy_arp_answers,
    rvnet_router_forwards_between_linux_hosts => af_rvnet::router_forwards_between_linux_hosts,
    rvnet_router_mtu_fragments_and_frag_needed => af_rvnet::router_mtu_fragments_and_frag_needed,
    rvnet_many_readers_no_lost_wakeup => af_rvnet::many_readers_no_lost_wakeup,
    rvnet_epoll_many_sockets => af_rvnet::epoll_many_sockets,
    rvnet_bindtodevice_filters_by_interface => af_rvnet::bindtodevice_filters_by_interface,
    rvnet_dont_fragment_on_send => af_rvnet::dont_fragment_on_send,
    rvnet_sndbuf_charged_while_unresolved => af_rvnet::sndbuf_charged_while_unresolved,
    rvnet_gratuitous_arp_on_addr_add => af_rvnet::gratuitous_arp_on_addr_add,
    rvnet_arp_failure_reported_to_socket => af_rvnet::arp_failure_reported_to_socket,
    rvnet_connected_socket_learns_port_unreachable => af_rvnet::connected_socket_learns_port_unreachable,
    rvnet_raw_hdrincl_ping => af_rvnet::raw_hdrincl_ping,
    rvnet_arp_cache_enforces_gc_thresh3 => af_rvnet::arp_cache_enforces_gc_thresh3,
    rvnet_shutdown_answers_as_inet => af_rvnet::shutdown_answers_as_inet,
    rvnet_bound_socket_sends_by_its_device => af_rvnet::bound_socket_sends_by_its_device,
    rvnet_bad_udp_csum_and_bad_src_counted => af_rvnet::bad_udp_csum_and_bad_src_counted,
    rvnet_protocol_unreachable_to_linux => af_rvnet::protocol_unreachable_to_linux,
    rvnet_reassembly_timeout_counted => af_rvnet::reassembly_timeout_counted,
    rvnet_reassembly_evicts_oldest_past_high_thresh => af_rvnet::reassembly_evicts_oldest_past_high_thresh,
    rvnet_full_route_table_refused => af_rvnet::full_route_table_refused,
    rvnet_million_routes_by_batch => af_rvnet::million_routes_by_batch [alone],
    rvnet_arp_hundred_thousand_entries => af_rvnet::arp_hundred_thousand_entries,
    rvnet_secondary_addresses_answer_ping => af_rvnet::secondary_addresses_answer_ping,
    rvnet_many_sockets_each_receive => af_rvnet::many_sockets_each_receive [alone],
    rvnet_connected_socket_keeps_its_route => af_rvnet::connected_socket_keeps_its_route,
    rvnet_concurrency_stress => af_rvnet::concurrency_stress,
    rvnet_netlink_ynl_cli_adds_and_dumps => netlink::ynl_cli_adds_and_dumps,
    rvnet_netlink_rvnetctl_adds_and_dumps => netlink::rvnetctl_adds_and_dumps,
    rvnet_netlink_monitor_sees_changes => netlink::monitor_sees_changes,
    rvnet_netlink_bad_requests_refused => netlink::bad_requests_refused,
    rvnet_netlink_rvnetctl_batch_runs_a_file => netlink::rvnetctl_batch_runs_a_file,
];

/// Subcommands that the tests run inside namespaces.
type Tool = fn(&[String]) -> Result<(), String>;
const TOOLS: &[(&str, Tool)] = &[
    ("tcp-sink", tools::tcp_sink),
    ("tcp-source", tools::tcp_source),
    ("udp-echo", tools::udp_echo),
    ("udp-client", tools::udp_client),
    ("udp-rr", tools::udp_rr),
    ("rvnet-udp-echo", tools::rvnet_udp_echo),
    ("rvnet-udp-client", tools::rvnet_udp_client),
    ("rvnet-ping", tools::rvnet_ping),
    ("rvnet-udp-send", tools::rvnet_udp_send),
    ("rvnet-udp-recv", tools::rvnet_udp_recv),
    ("rvnet-socket", tools::rvnet_socket),
    ("as-user", tools::as_user),
    ("bench-sink", bench_tools::bench_sink),
    ("bench-blast", bench_tools::bench_blast),
    ("bench-echo", bench_tools::bench_echo),
    ("bench-rr", bench_tools::bench_rr),
    ("bench-table", bench_tools::bench_table),
    ("hold-sockets", bench_tools::hold_sockets),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some((_, tool)) = TOOLS
        .iter()
        .find(|(n, _)| args.first().map(String::as_str) == Some(*n))
    {
        if let Err(e) = tool(&args[1..]) {
            println!("bad: {e}");
            std::process::exit(1);
        }
        return;
    }
    if args.first().map(String::as_str) == Some("--child") {
        match TESTS
            .iter()
            .find(|t| args.get(1).map(String::as_str) == Some(t.name))
        {
            Some(t) => harness::child(t),
            None => {
                println!("rvnet-vmtest --child: no test {:?}", args.get(1));
                std::process::exit(2);
            }
        }
    }
    if args.iter().any(|a| a == "--list") {
        for t in TESTS {
            println!("{}", t.name);
        }
        return;
    }
    let mut jobs = std::env::var("RVNET_VMTEST_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(1);
    let mut names = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-j" {
            match it.next().and_then(|j| j.parse().ok()) {
                Some(j) => jobs = j,
                None => {
                    eprintln!("rvnet-vmtest: -j wants a number");
                    std::process::exit(2);
                }
            }
        } else {
            names.push(a.as_str());
        }
    }
    let selected: Vec<&Test> = TESTS
        .iter()
        .filter(|t| names.is_empty() || names.contains(&t.name))
        .collect();
    if selected.is_empty() {
        eprintln!("rvnet-vmtest: no test matches {names:?}");
        std::process::exit(2);
    }
    let failed = harness::run(&selected, jobs);
    std::process::exit(i32::from(failed > 0));
}
