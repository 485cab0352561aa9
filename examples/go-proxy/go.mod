module livecheck.local/goproxy

go 1.19
