/* lessons.c: the lessons themselves, as data: each step a precondition, an action, the
 * words and a check (lesson.h). A new lesson is a new table here; its checks are the
 * predicates of lesson.c. Section numbers are the Raft paper's (Ongaro and Ousterhout,
 * 2014) unless they say "dissertation" (Ongaro, 2014). */
#include "visualization/lesson.h"

#include <stdlib.h>
#include <string.h>

/* Every lesson starts from a calm village: the lesson heals and revives what it must. */
#define READY                                                                                      \
    {                                                                                              \
        .action = LA_RESTORE,                                                                      \
        .text = "Getting the village ready: every villager alive, every road open, one leader "    \
                "that everyone follows.",                                                          \
        .check = LC_CALM, .seen = "{old} leads term {term} and every villager follows it.",        \
    }

static const struct lesson_step election[] = {
    READY,
    {
        .learner = true,
        .text = "{old} leads term {term}. Each villager is a follower, a candidate or the "
                "leader (Figure 2). A follower that hears no heartbeat for an election "
                "timeout (its ring drains) stands for election. To start one now, "
                "RIGHT-click a follower: {old} hands leadership over with TimeoutNow "
                "(dissertation §3.10) and that follower stands at once.",
        .check = LC_NEW_LEADER,
        .seen = "{leader} won: it leads term {newterm}, higher than {term}.",
    },
    {
        .text = "How {leader} won (§5.2): it raised its term to {newterm}, voted for itself "
                "and sent RequestVote to every villager. Each grants one vote per term, first "
                "come first served, and only to a candidate whose log is at least as "
                "up-to-date as its own (§5.4.1). {majority} votes of {n} make a leader.",
        .check = LC_VOTES,
        .seen = "a majority shows \"voted {leader}\" in term {newterm}.",
    },
    {
        .text = "{old} saw the higher term in the RequestVote and stepped down: any server "
                "that sees a higher term takes it and becomes a follower (Figure 2, rules "
                "for all servers). {leader}'s heartbeats, empty AppendEntries, now keep "
                "every election timer full.",
        .check = LC_OLD_FOLLOWS,
        .seen = "{old} follows {leader} in term {newterm}.",
    },
};

static const struct lesson_step replication[] = {
    READY,
    {
        .remember = true,
        .learner = true,
        .text = "Commands go to the leader. Press c, type  gold add 5  and press Enter. "
                "{old} appends it to its log as a new entry (§5.3): a hollow tile, not "
                "committed yet.",
        .check = LC_LEADER_APPENDED,
        .seen = "{leader} appended entry {entry}.",
    },
    {
        .text = "The leader sends entry {entry} to every follower in AppendEntries, with the "
                "index and term of the entry before it. A follower takes it only if its own "
                "log holds that entry too: the consistency check (§5.3).",
        .check = LC_ENTRY_STORED,
        .seen = "entry {entry} is in a majority of logs.",
    },
    {
        .text = "Once a majority stores it, the entry is committed (§5.3; Figure 2: the "
                "leader sets commitIndex to N when a majority's matchIndex is at least N and "
                "entry N is of its term). The next heartbeat carries the commit index, and "
                "every villager applies the entry to its state machine, the barn.",
        .check = LC_ENTRY_COMMITTED,
        .seen = "entry {entry} is committed (a solid tile) on {leader} and a majority.",
    },
    {
        .learner = true,
        .text = "A majority is all Raft needs. Click a follower (a villager without the "
                "crown) to crash its process.",
        .check = LC_FOLLOWER_DEAD,
        .seen = "{victim} is a grave.",
    },
    {
        .remember = true,
        .learner = true,
        .text = "Press c, type  gold add 2  and press Enter again.",
        .check = LC_LEADER_APPENDED,
        .seen = "{leader} appended entry {entry}.",
    },
    {
        .text = "Without {victim}, {leader} still reaches {majority} of {n} villagers, so "
                "entry {entry} commits all the same; {victim}'s log stays behind.",
        .check = LC_ENTRY_COMMITTED,
        .seen = "entry {entry} is committed without {victim}.",
    },
    {
        .learner = true,
        .text = "Click {victim}'s grave to start it again. It reads its log back from disk, "
                "and the leader brings it up to date: when the consistency check fails, the "
                "leader lowers its nextIndex and tries again until the logs match, then sends "
                "what is missing (§5.3).",
        .check = LC_ALL_CAUGHT_UP,
        .seen = "every villager holds and has committed entry {entry}.",
    },
};

static const struct lesson_step crash[] = {
    READY,
    {
        .remember = true,
        .action = LA_SUBMIT,
        .command = "apples add 3",
        .text = "First something worth keeping: the lesson sends  apples add 3  through "
                "{old}.",
        .check = LC_LEADER_APPENDED,
        .seen = "{leader} appended entry {entry}.",
    },
    {
        .text = "Entry {entry} commits once a majority stores it (§5.3).",
        .check = LC_ENTRY_COMMITTED,
        .seen = "entry {entry} is committed on a majority.",
    },
    {
        .learner = true,
        .text = "Now click {old}, the leader with the crown, to crash its process.",
        .check = LC_OLD_LEADER_DEAD,
        .seen = "{old} is a grave: its heartbeats stop.",
    },
    {
        .text = "The followers hear no heartbeat. The first whose election timer runs out "
                "asks whether it could win (pre-vote, dissertation §9.6), then stands for a "
                "term above {term} and asks for votes (§5.2).",
        .check = LC_NEW_LEADER,
        .seen = "{leader} leads term {newterm}.",
    },
    {
        .text = "Leader Completeness (§5.4): a committed entry is in the log of every later "
                "leader, because a voter refuses a candidate whose log is behind its own "
                "(§5.4.1). So {leader} holds entry {entry}, and commits it in its term.",
        .check = LC_ENTRY_COMMITTED,
        .seen = "{leader} holds committed entry {entry}: nothing committed was lost.",
    },
    {
        .learner = true,
        .text = "Click {old}'s grave to start it again. It comes back as a follower with its "
                "old term, hears {leader}'s heartbeat of a higher term, and follows it "
                "(Figure 2).",
        .check = LC_OLD_FOLLOWS,
        .seen = "{old} follows {leader} in term {newterm}.",
    },
};

static const struct lesson_step partition[] = {
    READY,
    {
        .learner = true,
        .text = "Cut {old}, the leader, off from everyone: click each road (the straight "
                "lines) from {old} to the others, until all are red. The moment it is cut "
                "off, the lesson sends it  gold add 7, as a client that still believes in it "
                "would.",
        .check = LC_OLD_ISOLATED,
        .then = LA_SEND_TO_OLD,
        .command = "gold add 7",
        .seen = "{old} is cut off from every other villager.",
    },
    {
        .text = "{old} still thinks it leads, so it appends  gold add 7  to its log; but no "
                "majority can store it, so it can never commit it (§5.3): its tile stays "
                "hatched and no client hears \"ok\".",
        .check = LC_STALE_ENTRY,
        .seen = "{old} holds entry {entry} of term {term}, uncommitted: a stale leader.",
    },
    {
        .text = "Across the cut, the others hear nothing from {old}. One times out, wins the "
                "votes of the majority in a higher term (§5.2), and appends an entry of its "
                "own term to commit (§8): at index {entry}, where {old} has its own. Two logs "
                "now disagree there, as in Figure 7.",
        .check = LC_MAJORITY_COMMITS,
        .seen = "{leader} leads term {newterm} and has committed index {entry}.",
    },
    {
        .text = "{old} hears from no majority for an election timeout, so it steps down "
                "(CheckQuorum, dissertation §6.2). Even before that, two leaders could never "
                "both commit: only the majority's can.",
        .check = LC_OLD_STEPPED_DOWN,
        .seen = "{old} no longer leads.",
    },
    {
        .learner = true,
        .text = "Press h (or the heal button) to open every road. Lesson 5 looks closely at "
                "{old}'s log as it comes back.",
        .check = LC_HEALED,
        .seen = "every road is open.",
    },
    {
        .text = "{old} hears {leader}'s higher term and follows it (Figure 2).",
        .check = LC_OLD_FOLLOWS,
        .seen = "{old} follows {leader} in term {newterm}.",
    },
};

static const struct lesson_step repair[] = {
    READY,
    {
        .remember = true,
        .action = LA_ISOLATE_AND_SEND,
        .command = "gold add 7",
        .text = "To have a log to repair, the lesson cuts {old}, the leader, off from "
                "everyone and at once sends it  gold add 7. {old} appends the entry but can "
                "commit nothing (§5.3), as in lesson 4.",
        .check = LC_STALE_ENTRY,
        .seen = "{old} holds entry {entry} of term {term}, uncommitted.",
    },
    {
        .text = "The majority elects a new leader in a higher term, which commits an entry "
                "of its own term at index {entry} (§5.2, §8).",
        .check = LC_MAJORITY_COMMITS,
        .seen = "{leader} leads term {newterm} and has committed index {entry}.",
    },
    {
        .learner = true,
        .text = "Now press h to heal, and watch {old}'s row of tiles.",
        .check = LC_HEALED,
        .seen = "every road is open.",
    },
    {
        .text = "{leader}'s AppendEntries reaches {old} with a higher term: {old} follows it. "
                "The terms at index {entry} differ, so {old} deletes its entry there and all "
                "after it, and takes the leader's (§5.3; Figure 2, AppendEntries rule 3). It "
                "was never committed, so nothing promised is lost.",
        .check = LC_LOG_REPAIRED,
        .seen = "{old}'s entry {entry} of term {term} was struck out; it now holds the "
                "leader's, committed.",
    },
    {
        .text = "Why a stale entry never counts (§5.4.2, Figure 8): a leader commits only "
                "entries of its own term by counting replicas; earlier ones commit with "
                "them. Now every log holds the same entries.",
        .check = LC_ALL_CAUGHT_UP,
        .seen = "all {n} villagers hold and have committed the same entry {entry}.",
    },
};

/* Membership as the cluster does it (docs/MEMBERSHIP.md; raft_peer/core/membership.c and
 * configuration.c): one server per change, a newcomer a learner until it has caught up,
 * a configuration in use from the moment it is appended. */
static const struct lesson_step membership[] = {
    READY,
    {
        .pre = LC_SPARE,
        .learner = true,
        .text = "{old} leads {n} voters: a majority is {majority} of {n}. Press a to call a "
                "newcomer: the game starts the next peer of the ini with --join (it knows no "
                "configuration, so it never stands for election) and asks {old} to add it. "
                "The leader appends a configuration entry naming it a learner (dissertation "
                "§4.2.1): an apprentice that receives the log but does not vote and counts "
                "toward no majority.",
        .check = LC_JOINER_LEARNER,
        .seen = "{joiner} was seen as a learner.",
    },
    {
        .text = "{leader} sends {joiner} the log in rounds (§4.2.1): each round sends what "
                "the leader held when it began, and one done in less than an election timeout "
                "means {joiner} has caught up. Only then does {leader} append a second entry "
                "that makes it a voter. Why wait: with three voters and an empty fourth, a "
                "majority is three of four, so one more failure would stop every commit until "
                "the newcomer had copied the whole log.",
        .check = LC_JOINER_VOTER,
        .seen = "{joiner} caught up and is a voter from entry {conf}.",
    },
    {
        .text = "A server uses the latest configuration in its log, committed or not (§4.1): "
                "{leader} counts majorities among {n} voters from the moment it appends entry "
                "{conf}, and each follower uses it once it holds the entry. The change is "
                "complete when entry {conf} commits.",
        .check = LC_CONF_COMMITTED,
        .seen = "entry {conf} is committed: {n} voters, a majority is {majority} of {n} (it was "
                "{majority0} of {n0}).",
    },
    {
        .learner = true,
        .text = "Now one leaves. Press x, then click a follower (not {leader}, who wears the "
                "crown): the game asks {leader} to remove it. Again one server per change: "
                "{leader} appends a configuration without it and uses it at once, yet keeps "
                "sending it entries until the change commits, then one last heartbeat with "
                "the commit index, so that it can learn it was removed.",
        .check = LC_FOLLOWER_REMOVED,
        .seen = "{gone} is out: entry {conf}, without it, is committed; {n} voters, a "
                "majority is {majority} of {n} (it was {majority0} of {n0}).",
    },
    {
        .text = "Why one server at a time (§4.1): adding or removing one voter, a majority of "
                "the old configuration ({majority0} of {n0}) and one of the new ({majority} of "
                "{n}) always share a server, so the two can never decide differently. Change "
                "two at once and two majorities that share no one could each elect a leader in "
                "the same term. "
                "So {leader} refuses a second change while one is uncommitted.",
        .check = LC_CONF_EVERYWHERE,
        .seen = "all {n} voters use entry {conf}, committed; {gone} walks away. A leader may "
                "remove itself too: it leads until the change commits, counting itself in no "
                "majority, then steps down (§4.2.2).",
    },
};

#define LESSON(name, title, teaches, steps)                                                        \
    {                                                                                              \
        name, title, teaches, steps, (int)(sizeof steps / sizeof steps[0])                         \
    }

const struct lesson_def lesson_table[] = {
    LESSON("election", "An election", "terms, RequestVote, one vote per term (§5.2)", election),
    LESSON("replication", "Replication and commit",
           "AppendEntries, the consistency check, commit on a majority (§5.3)", replication),
    LESSON("crash", "A leader crash", "a new election, Leader Completeness (§5.2, §5.4)", crash),
    LESSON("partition", "A partition and a stale leader",
           "a leader cut off cannot commit; the majority goes on (§5.3, Figure 7)", partition),
    LESSON("repair", "A log repaired after the heal",
           "conflicting entries replaced by the leader's (§5.3, Figures 7 and 8)", repair),
    LESSON("membership", "A villager joins, one leaves",
           "learners catch up; one server per change (dissertation §4.1, §4.2)", membership),
};
const int lesson_count = (int)(sizeof lesson_table / sizeof lesson_table[0]);

int lesson_find(const char *name)
{
    char *end;
    long k;

    if (name == NULL || *name == '\0')
        return -1;
    for (int i = 0; i < lesson_count; i++)
        if (strcmp(lesson_table[i].name, name) == 0)
            return i;
    k = strtol(name, &end, 10);
    return *end == '\0' && k >= 1 && k <= lesson_count ? (int)k - 1 : -1;
}

void lesson_print_list(FILE *f)
{
    fprintf(f, "lessons (raft_game --lesson NAME, or l in the game):\n");
    for (int i = 0; i < lesson_count; i++)
        fprintf(f, "  %d %-12s %s: %s\n", i + 1, lesson_table[i].name, lesson_table[i].title,
                lesson_table[i].teaches);
}
