package sqlite_test

import "time"

func t0() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }
