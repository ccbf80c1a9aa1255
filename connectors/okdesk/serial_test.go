package okdesk

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An issue's additional parameter "serial" (or serial_number, sn,
// zav_nomer) is the order's equipment serial.
func TestIssueSerial(t *testing.T) {
	c := &Connector{cfg: Config{Location: time.UTC}}
	for _, code := range []string{"serial", "Serial_Number", "sn", "zav_nomer"} {
		is := Issue{ID: json.Number("77"), Title: "Витрина", UpdatedAt: "2026-11-04T10:00:00+03:00",
			Parameters: []param{{Code: "floor", Value: 2}, {Code: code, Value: "KB-4471-02918"}}}
		o, err := c.order(is, nil)
		require.NoError(t, err)
		assert.Equal(t, "KB-4471-02918", o.Serial, code)
	}
	o, err := c.order(Issue{ID: json.Number("78"), UpdatedAt: "2026-11-04T10:00:00+03:00"}, nil)
	require.NoError(t, err)
	assert.Empty(t, o.Serial)
}
