// Formgrader's saves as the course makes them (autograder/formgrader_saves.py says why): a save
// sends only the fields its grader changed, each with the value this page showed before, and
// when the server refuses it because another grader changed one of them meanwhile, the page
// shows the other grader's value and says so beside the answer. These methods take the place
// of those of nbgrader's GradeUI and CommentUI (formgrade_models.js) before the page builds
// its views, at window load.
(function () {
    var LABELS = {manual_score: "score", extra_credit: "extra credit", manual_comment: "comment"};

    // An empty input and a field nobody filled in are the same to a grader.
    function same(a, b) {
        return (a === null ? "" : a) === (b === null ? "" : b);
    }

    function shown(name, value) {
        if (value === null || value === "") {
            return "empty";
        }
        return name === "manual_comment" ? "\u201c" + value + "\u201d" : String(value);
    }

    // The line beside the answer that tells its grader what happened; none when `text` is empty.
    function tell(ui, text) {
        if (!ui.$notice) {
            ui.$notice = $('<div class="alert alert-warning saves-notice" role="alert"></div>');
            ui.$el.append(ui.$notice);
        }
        ui.$notice.text(text).toggle(text !== "");
    }

    // What others changed in fields this save did not touch.
    function othersChanges(before, current, sent) {
        var changes = [];
        _.each(LABELS, function (label, name) {
            if (_.has(before, name) && !_.has(sent, name) && !same(before[name], current[name])) {
                changes.push("the " + label + " to " + shown(name, current[name]));
            }
        });
        return changes;
    }

    function saveChanged(ui, values) {
        var model = ui.model;
        var before = _.clone(model.attributes);
        var body = {seen: {}};
        _.each(values, function (value, name) {
            if (!same(value, before[name])) {
                body[name] = value;
                body.seen[name] = before[name];
            }
        });
        Backbone.sync("update", model, {
            attrs: body,
            success: function (current) {
                var others = othersChanges(before, current, body);
                model.set(current);
                ui.render();
                tell(ui, others.length === 0 ? "" :
                    "Saved. Another grader had meanwhile changed " + others.join(" and ") +
                    "; this page now shows it.");
                ui.animateSaved();
            },
            error: function (xhr) {
                ui.$glyph.removeClass("glyphicon-refresh").hide();
                // A page that waited for this save to move to another learner stays.
                $(document).off("finished_saving");
                if (xhr.status !== 409) {
                    var reason = xhr.responseJSON ? xhr.responseJSON.message : xhr.statusText;
                    tell(ui, "Not saved: the server answered " + xhr.status + " (" + reason +
                        "). Reload the page and enter it again.");
                    return;
                }
                var current = JSON.parse(xhr.responseText);
                var refused = _.map(_.without(_.keys(body), "seen"), function (name) {
                    return "your " + LABELS[name] + " " + shown(name, body[name]) +
                        " (another grader made it " + shown(name, current[name]) + ")";
                });
                model.set(current);
                ui.render();
                tell(ui, "Not saved: another grader changed this answer while this page was " +
                    "open, so " + refused.join(" and ") + " was not saved. The page now " +
                    "shows what is saved; enter yours again to replace it.");
            }
        });
    }

    // The number typed in `$input`, held within lowest..highest as nbgrader's page holds it.
    function typedNumber(ui, $input, lowest, highest) {
        if ($input.val() === "") {
            return null;
        }
        var value = parseFloat($input.val());
        if (value < lowest || value > highest) {
            ui.animateInvalidValue($input);
            value = Math.min(Math.max(value, lowest), highest);
        }
        return value;
    }

    GradeUI.prototype.save = function () {
        saveChanged(this, {
            manual_score: typedNumber(this, this.$score, 0, this.model.get("max_score")),
            extra_credit: typedNumber(this, this.$extra_credit, 0, Infinity)
        });
    };

    GradeUI.prototype.assignFullCredit = function () {
        saveChanged(this, {manual_score: this.model.get("max_score")});
        this.$score.select();
        this.$score.focus();
    };

    GradeUI.prototype.assignNoCredit = function () {
        saveChanged(this, {manual_score: 0, extra_credit: 0});
        this.$score.select();
        this.$score.focus();
    };

    CommentUI.prototype.save = function () {
        saveChanged(this, {manual_comment: this.$comment.val()});
    };
})();
