module example.com/registry/e2e

go 1.26.0

require (
	example.com/registry/gen v0.0.0
	github.com/contractsdev/contracts/runtime/go v0.1.0
	github.com/twmb/franz-go v1.22.3
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/pierrec/lz4/v4 v4.1.33 // indirect
	github.com/twmb/franz-go/pkg/kadm v1.19.0 // indirect
	github.com/twmb/franz-go/pkg/kmsg v1.15.1 // indirect
)

// The generated module and its runtime, from this repository.
replace example.com/registry/gen => ../../../generated/go

replace github.com/contractsdev/contracts/runtime/go => ../../../runtime/go
