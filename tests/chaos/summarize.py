#!/usr/bin/env python3
"""Print a chaos run's figures as Markdown (for docs/RELIABILITY.md): summarize.py RUN_DIR"""
import json
import os
import sys
from collections import Counter


def main(d):
    s = json.load(open(os.path.join(d, "summary.json")))
    ev = [json.loads(line) for line in open(os.path.join(d, "history.jsonl"))]
    sizes = [e["size"] for e in ev if e["event"] == "invoke"]
    files = Counter(e["file"] for e in ev if e["event"] == "invoke")
    replaced = [e for e in ev if e["event"] == "replaced"]
    restarts = [e for e in ev if e["event"] == "restart_after_disk_full"]
    print(f"- seed {s['seed']}, {s['nodes']} nodes, {s['duration_s'] / 60:.0f} min of faults, "
          f"verdict: **{'PASS' if not s['violations'] else 'FAIL'}**")
    print(f"- uploads {s['uploads']} ({s['bytes_sent_mib']} MiB, largest {max(sizes) / (1 << 20):.1f} MiB; "
          + ", ".join(f"{k} {v}" for k, v in sorted(files.items())) + ")")
    print("- answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(s["answers"].items())))
    print(f"- acknowledged (200) {s['acknowledged']}, **lost {s['lost']}, wrong {s['wrong']}**; listed on every "
          f"node {s['listed']} (of which {s['indeterminate_listed']} whose answer was lost or an error)")
    print("- faults applied: " + ", ".join(f"{k} {v}" for k, v in sorted(s["faults"].items())))
    print(f"- longest time with no node reporting itself leader: {s['longest_without_leader_s']} s "
          f"(sampled every 0.5 s); after healing: leader in {s['leader_after_heal_s']} s, "
          f"upload served in {s['served_after_heal_s']} s")
    print(f"- terms with a leader (logs): {s['terms_with_leader_in_logs']}, each with exactly one")
    print(f"- members replaced: {len(replaced)} (voter after "
          + ", ".join(f"{e['after']} s" for e in replaced) + "); node restarts after a full disk: "
          f"{len(restarts)}")
    print(f"- process exits: {len(s['exits'])}, all by the nemesis: {all(x[2] for x in s['exits'])}")
    print(f"- max open fds per node {max(s['max_fds'].values())}, max RSS per node "
          f"{max(s['max_rss_mib'].values())} MiB")
    if s["violations"]:
        print("- violations:")
        for v in s["violations"]:
            print(f"  - {v}")


if __name__ == "__main__":
    main(sys.argv[1])
