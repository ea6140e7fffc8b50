int berth_runtime_anchor;
