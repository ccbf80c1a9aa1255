// Package routing makes the routing decisions for a ticket: which service
// object (store) a message is about, which engineer gets the work, and when it
// is due. It is pure: every function decides over the data it is given and
// performs no I/O, so the same input always gives the same decision.
//
// # Directory
//
// A [Directory] is an immutable, indexed snapshot of the master data (clients,
// stores, engineers, contacts, categories). It is safe for concurrent use;
// when the master data changes the caller builds a new one with
// [NewDirectory] and swaps the pointer atomically (atomic.Pointer). Pointers
// returned by lookups point into the snapshot and must not be modified.
//
// Store codes are compared by [CodeKey]: case, Cyrillic letters that
// look like Latin ones (С/C, М/M, ...) and separators (space, dash, slash,
// dot, underscore) do not matter, so "гм 106", "ГМ-106" and "ГM106" are one
// code. Phones are compared as E.164 ([parsers.NormalizePhone], region RU),
// the same form extraction gives them.
//
// # Object matching
//
// [Directory.MatchObject] tries, most certain first, and stops at the first
// method that decides:
//
//  1. code: a store code from the hints or found in the text. Code shapes are
//     learned per client from its stores' codes, so a new chain needs no code
//     change; "магазин 57" and "№57" resolve through the store number in the
//     store names (or zero padding when a client's codes are bare digits).
//  2. contact: the sender address belongs to a contact who has a store. A
//     regional director has none; his address only tells the client.
//  3. phone: a phone from the hints or the signature belongs to such a contact.
//  4. address: an address in Hints.Address, else in Text and Signature, is
//     scored against the client's stores (all stores when the client is
//     unknown). The house number must agree; street and city weigh most;
//     корпус/строение, street type and postcode adjust the score. Below
//     [MatchThreshold] no store is chosen but the best candidates are returned
//     for the dispatcher.
//  5. name: a store name mention such as "Пятый угол Пенза №1".
//
// Candidate retrieval uses an inverted index keyed by (street word stem, house
// number), so a query costs a few map look-ups however many stores there are.
//
// # Assignment
//
// [Directory.Assign] picks an engineer for a store and category. Eligible
// engineers are active, hold the category's competence, cover the store
// (an OKTMO area or their radius around their base) and are under their
// capacity. The store's fixed engineer comes first when eligible; the others
// are ranked by distance (whole kilometres), then open load, then rating.
// Every [Assignment] lists the engineers considered and why each was rejected.
// [CheckAssignment] verifies the same invariants for an assignment already made.
//
// OKTMO areas are hierarchical: two digits of region, three of municipality,
// three of settlement. An area code whose trailing groups are zero covers every
// code below it (45000000 covers 45xxxxxx, 46760000 covers 46760xxx); a code
// with no zero group covers itself only.
//
// # SLA
//
// [Due] adds the SLA hours to the time a message was received, counting only
// business hours when the client has them. [ResolveSLA] picks the hours: a
// client+category override, then a client-wide override, then a category-wide
// one, then the category's default. A due date stated by the chain itself
// wins over all of this; that is the caller's decision.
package routing
