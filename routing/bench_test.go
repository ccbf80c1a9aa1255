package routing

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkMatchAndAssign matches and assigns one message per op against
// 100k stores and 10k engineers. Messages mix a store code, an address in
// free text (client known), an address field with the client unknown, and a
// phone. p50 and p99 of the per-message time are reported.
//
// Wall time includes waiting for a core: on a shared machine the p99 of
// wall time is mostly other processes' time slices. The per-message CPU
// time of the benchmark's thread (p50-cpu-µs, p99-cpu-µs; Linux only) is the
// work itself, including any GC assist the message was charged with.
//
//	go test ./routing/ -run '^$' -bench MatchAndAssign -benchtime 20000x -count 5
func BenchmarkMatchAndAssign(b *testing.B) {
	d, objects, contacts := generateDirectory(b, 100_000, 10_000)
	rng := rand.New(rand.NewPCG(3, 5))
	const nMsg = 4096
	hints := make([]Hints, nMsg)
	for i := range hints {
		k := rng.IntN(len(objects))
		o := objects[k]
		a := NormalizeAddress(o.Address)
		house := a.House
		if a.Korpus != "" {
			house += "к" + a.Korpus
		}
		switch i % 4 {
		case 0:
			hints[i] = Hints{Client: o.Client, Codes: []string{strings.ReplaceAll(o.Code, "-", " ")}, Text: "Не работает касса №2"}
		case 1:
			hints[i] = Hints{Client: o.Client, Text: fmt.Sprintf("Добрый день! У нас не холодит витрина, -4 °C.\nАдрес: %s, %s %s\nС уважением, Ольга\nтел. 8 (900) 000-00-00", o.City, a.Street, house)}
		case 2:
			hints[i] = Hints{Address: fmt.Sprintf("%s г, %s ул, дом %s", o.City, a.Street, house)}
		case 3:
			hints[i] = Hints{Client: o.Client, Phones: []string{contacts[k].Phone}, Text: "Течёт кран"}
		}
	}
	cats := []string{"refrigeration", "electrical", "plumbing", "pos_it"}
	load := map[string]int{}
	durs := make([]time.Duration, 0, b.N)
	cpus := make([]time.Duration, 0, b.N)
	found := 0
	// Collect the directory build's garbage now, not in the measured loop:
	// a service builds its directory once and then routes for hours.
	runtime.GC()
	// Thread CPU time is per OS thread: keep the loop on one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		cpu0, cpuOK := threadCPUTime()
		start := time.Now()
		m := d.MatchObject(hints[i%nMsg])
		if m.Object != nil {
			found++
			a := d.Assign(m.Object, cats[i%len(cats)], load, Policy{})
			if a.Engineer != "" {
				load[a.Engineer] = (load[a.Engineer] + 1) % 3
			}
		}
		durs = append(durs, time.Since(start))
		if cpu1, _ := threadCPUTime(); cpuOK {
			cpus = append(cpus, cpu1-cpu0)
		}
	}
	b.StopTimer()
	pct := func(ds []time.Duration, p float64) float64 {
		slices.Sort(ds)
		return float64(ds[min(len(ds)-1, int(float64(len(ds))*p))].Microseconds())
	}
	b.ReportMetric(pct(durs, 0.50), "p50-µs")
	b.ReportMetric(pct(durs, 0.99), "p99-µs")
	if len(cpus) > 0 {
		b.ReportMetric(pct(cpus, 0.50), "p50-cpu-µs")
		b.ReportMetric(pct(cpus, 0.99), "p99-cpu-µs")
	}
	b.ReportMetric(float64(found)/float64(len(durs)), "matched/op")
}

// BenchmarkNormalizeAddress parses one address in the GAR style.
func BenchmarkNormalizeAddress(b *testing.B) {
	for b.Loop() {
		NormalizeAddress("Самарская обл, г Тольятти, пр-кт Полевая, д 112, корп. 2")
	}
}
