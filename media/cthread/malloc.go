package cthread

// #include <malloc.h>
import "C"

// ReturnLargeFrees makes glibc give every large block (256 kB and up)
// back to the system when it is freed. By default glibc raises that
// threshold to the largest block freed so far (up to 32 MB), after which
// such blocks come from the arenas of the C threads that allocate them
// and stay there: a window that left and rejoined meetings kept ~34 MB
// more each time (QA soak; 85 MB to 225 MB of anonymous memory over 8
// rejoins, 85 to 90 MB with this; the CPU benchmark unchanged). Call it
// before the threads start.
func ReturnLargeFrees() {
	C.mallopt(C.M_MMAP_THRESHOLD, 256<<10)
}
