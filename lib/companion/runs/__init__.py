"""Running chapters: papermill executions (`reproduce`), seed sweeps (`sweep`) and the key curves they
aggregate (`curves`), the quick book's timings (`bench`) and GPU throughput (`throughput`). The top floor:
it may import any layer."""
