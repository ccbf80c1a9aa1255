package rules

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/intakehq/intake/routing"
)

// Rules see the equipment a serial named, with its warranty on the day.
func TestEquipmentInEnv(t *testing.T) {
	set := mustLoad(t, `
rules:
  - name: equipment-under-warranty
    when: equipment.serial != "" && equipment.warranty && equipment.kind == "refrigeration"
    then:
      tags: [warranty]
      continue: true
  - name: found-in-field
    when: equipment.source == "field" && equipment.how == "field" && equipment.object == "0135"
    then: {tags: [by-serial]}
`)
	env := &Env{}
	assert.Empty(t, set.Evaluate(StageRoute, env).Actions.Tags, "no equipment: equipment.serial is empty")

	e := routing.Equipment{Client: "PU", Object: "0135", Serial: "KB-4471-02918", Kind: "refrigeration", WarrantyUntil: "2027-01-01"}
	env.SetEquipment(routing.EquipmentMatch{Equipment: &e, Serial: "kb 4471 02918", Source: "field", How: routing.SerialByField}, true)
	assert.Equal(t, []string{"warranty", "by-serial"}, set.Evaluate(StageRoute, env).Actions.Tags)
}
