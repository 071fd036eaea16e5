package sdk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	json "github.com/dengji/dengji/internal/jsonx"
	"go.etcd.io/bbolt"

	"github.com/dengji/dengji/model"
	dsync "github.com/dengji/dengji/sync"
)

// Notice is the server's word that a registration of this device's
// districts may be a person registered elsewhere (可能已在…登记): the other
// districts by name, the strength (auto or review) and the case, nothing
// else of the other registrations. The registrar asks the voter and records
// the answer with AnswerNotice; it reaches the case's coordinators.
type Notice struct {
	dsync.Notice
	// Pending is the answer recorded here that the server has not accepted
	// yet: it is sent at the next Sync.
	Pending *dsync.NoticeAnswer `json:"pending,omitempty"`
	// Refused is the server's error code for the last answer sent, if it
	// refused it (e.g. not_found: the notice is no longer the district's).
	Refused string `json:"refused,omitempty"`
}

// noticePage is how many notices one request asks for.
const noticePage = 500

// Notices lists the notices this device holds, the most recently changed
// first.
func (d *Device) Notices() ([]Notice, error) {
	var out []Notice
	err := d.db.View(func(tx *bbolt.Tx) error {
		var err error
		if out, err = listJSONTx[Notice](tx, bucketNotices); err != nil {
			return err
		}
		for i := range out {
			if out[i].Pending, err = pendingAnswerTx(tx, out[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Notice) int { return b.Updated.Compare(a.Updated) })
	return out, err
}

// NoticesOf lists the notices on one registration.
func (d *Device) NoticesOf(record string) ([]Notice, error) {
	all, err := d.Notices()
	return slices.DeleteFunc(all, func(n Notice) bool { return n.Record != record }), err
}

// AnswerNotice records what the voter said about a notice, offline: answer
// is model.AnswerRegisteredThere ("registered there, remove here"),
// model.AnswerDifferentPerson or model.AnswerOther with a note saying what.
// It is kept on the device and sent at the next Sync; answering again
// before that replaces it. A bad answer or note is refused here
// (model.ErrNoticeAnswer, model.ErrNoticeNote), an unknown notice with
// ErrNotFound.
func (d *Device) AnswerNotice(id, answer, note string) error {
	if err := model.CheckNoticeAnswer(answer, note); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketNotices).Get([]byte(id)) == nil {
			return ErrNotFound
		}
		a := dsync.NoticeAnswer{Answer: answer, Note: note, Device: d.ID(), At: time.Now().UTC()}
		return putJSONTx(tx, bucketAnswers, []byte(id), &a)
	})
}

// syncNotices sends the answers recorded here, then reads the notices
// changed since the stored cursor, page by page.
func (d *Device) syncNotices(ctx context.Context, rep *SyncReport) error {
	if err := d.sendAnswers(ctx); err != nil {
		return err
	}
	for {
		var page dsync.NoticePage
		var cursor uint64
		if err := d.db.View(func(tx *bbolt.Tx) error { cursor = getU64Tx(tx, keyNotices); return nil }); err != nil {
			return err
		}
		path := fmt.Sprintf("/v1/notices?after=%d&limit=%d", cursor, noticePage)
		err := d.call(ctx, request{method: http.MethodGet, path: path, auth: true}, &page)
		var se *ServerError
		if errors.As(err, &se) && se.StatusCode == http.StatusNotFound {
			return nil // a server older than notices has none to give
		}
		if err != nil {
			return fmt.Errorf("notices: %w", err)
		}
		if page.More && page.Cursor <= cursor {
			return fmt.Errorf("%w: notices cursor did not advance from %d", ErrProtocol, cursor)
		}
		if err := d.storeNotices(page.Notices, page.Cursor, "", ""); err != nil {
			return fmt.Errorf("store notices: %w", err)
		}
		rep.Notices += len(page.Notices)
		if !page.More {
			return nil
		}
	}
}

// sendAnswers sends each answer recorded here. One the server refuses
// (4xx) is dropped and the refusal kept on the notice; a transport or
// server failure leaves the rest for the next Sync.
func (d *Device) sendAnswers(ctx context.Context) error {
	var ids []string
	var answers []dsync.NoticeAnswer
	err := d.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketAnswers).ForEach(func(k, v []byte) error {
			var a dsync.NoticeAnswer
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			ids, answers = append(ids, string(k)), append(answers, a)
			return nil
		})
	})
	if err != nil {
		return err
	}
	for i, id := range ids {
		var n dsync.Notice
		req := request{method: http.MethodPost, path: "/v1/notices/" + url.PathEscape(id) + "/answer", auth: true,
			body: map[string]string{"answer": answers[i].Answer, "note": answers[i].Note}}
		err := d.call(ctx, req, &n)
		var se *ServerError
		switch {
		case err == nil:
			err = d.storeNotices([]dsync.Notice{n}, 0, id, "")
		case errors.As(err, &se) && se.StatusCode >= 400 && se.StatusCode < 500 && !se.retryable():
			err = d.storeNotices(nil, 0, id, se.Code)
		default:
			return fmt.Errorf("notice answer: %w", err)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// storeNotices keeps notices from the server and, above 0, the new
// cursor; sent names an answer the server has now answered (refused its
// code, if it refused it), whose pending copy goes.
func (d *Device) storeNotices(ns []dsync.Notice, cursor uint64, sent, refused string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.db.Update(func(tx *bbolt.Tx) error {
		for i := range ns {
			if err := putJSONTx(tx, bucketNotices, []byte(ns[i].ID), &Notice{Notice: ns[i]}); err != nil {
				return err
			}
		}
		if sent != "" {
			if err := tx.Bucket(bucketAnswers).Delete([]byte(sent)); err != nil {
				return err
			}
		}
		if refused != "" {
			if err := markRefusedTx(tx, sent, refused); err != nil {
				return err
			}
		}
		if cursor > getU64Tx(tx, keyNotices) {
			return putU64Tx(tx, keyNotices, cursor)
		}
		return nil
	})
}

func markRefusedTx(tx *bbolt.Tx, id, code string) error {
	v := tx.Bucket(bucketNotices).Get([]byte(id))
	if v == nil {
		return nil
	}
	var n Notice
	if err := json.Unmarshal(v, &n); err != nil {
		return err
	}
	n.Refused = strings.TrimSpace(code)
	return putJSONTx(tx, bucketNotices, []byte(id), &n)
}

func pendingAnswerTx(tx *bbolt.Tx, id string) (*dsync.NoticeAnswer, error) {
	v := tx.Bucket(bucketAnswers).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	var a dsync.NoticeAnswer
	if err := json.Unmarshal(v, &a); err != nil {
		return nil, err
	}
	return &a, nil
}
