"""Speed and cost measurements that write results/ (never run as tests)."""
