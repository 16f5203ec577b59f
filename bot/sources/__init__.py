"""Where articles come from besides the data folder's own files: Telegram channels (`channels`), RSS/Atom feeds
(`feeds`), both written as archives into the data folder (`archives`), which is watched and synced (`watcher`);
a local web of feeds and pages for tests and benchmarks (`fake_web`) and the benchmarks of each source (`bench`)."""
