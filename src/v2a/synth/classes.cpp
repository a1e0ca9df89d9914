#include "v2a/synth/classes.h"

#include <set>
#include <sstream>

#include "v2a/core/error.h"

namespace v2a::synth {

const std::vector<ClassInfo>& all_classes() {
    static const std::vector<ClassInfo> classes = [] {
        std::vector<ClassInfo> c;
        auto midi = [&](std::string name, std::string noun, std::vector<int> programs, std::vector<int> notes,
                        double gap, double nmin, double nmax, std::vector<std::string> captions) {
            ClassInfo info;
            info.name = std::move(name);
            info.noun = std::move(noun);
            info.sound = SoundKind::Midi;
            info.programs = std::move(programs);
            info.notes = std::move(notes);
            info.min_gap = gap;
            info.note_min = nmin;
            info.note_max = nmax;
            info.captions = std::move(captions);
            c.push_back(info);
        };
        // C major / pentatonic pools keep the notes musical and inside each instrument's range.
        midi("piano", "a piano", {0, 1}, {55, 57, 60, 62, 64, 65, 67, 69, 72, 74, 76},
             0.32, 0.25, 0.6,
             {"a piano plays {n} note{s}", "someone plays the piano", "piano notes", "a grand piano is played"});
        {
            ClassInfo d;
            d.name = "drums";
            d.noun = "a drum";
            d.sound = SoundKind::Midi;
            d.percussion = true;
            d.programs = {0};
            d.notes = {36, 38, 40};   // GM kit: bass drum 1, acoustic snare, electric snare
            d.min_gap = 0.28;
            d.note_min = d.note_max = 0.15;
            d.captions = {"a drum is hit {n} time{s}", "drum hits", "someone plays the drums",
                          "a snare and kick drum"};
            c.push_back(d);
        }
        midi("guitar", "a guitar", {24, 25}, {52, 55, 57, 59, 62, 64, 67}, 0.32, 0.4, 0.8,
             {"a guitar string is plucked {n} time{s}", "someone plucks an acoustic guitar", "guitar notes",
              "an acoustic guitar plays"});
        midi("trumpet", "a trumpet", {56}, {60, 62, 64, 65, 67, 69, 70, 72}, 0.4, 0.2, 0.35,
             {"a trumpet plays {n} note{s}", "a trumpet blows", "brass notes", "someone plays the trumpet"});
        midi("bells", "bells", {14, 9}, {67, 69, 72, 74, 76, 79}, 0.36, 0.3, 0.6,
             {"a bell rings {n} time{s}", "tubular bells chime", "bells ring", "a glockenspiel is struck"});
        midi("marimba", "a marimba", {12}, {60, 62, 64, 67, 69, 72, 74, 76}, 0.32, 0.2, 0.4,
             {"a ball bounces on a marimba {n} time{s}", "marimba notes", "a marimba is played",
              "a bouncing ball hits wooden bars"});
        {
            ClassInfo s;
            s.name = "speech";
            s.noun = "{who}";
            s.sound = SoundKind::Speech;
            s.min_gap = 0.64;
            s.impulsive = false;   // words have several syllables / formant changes
            s.captions = {"{who} speaks", "{who} says {n} word{s}", "a person talking", "{who} is talking"};
            c.push_back(s);
        }
        {
            ClassInfo s;
            s.name = "notification";
            s.noun = "a notification";
            s.sound = SoundKind::Sample;
            s.samples = {"message.oga", "complete.oga", "device-added.oga", "dialog-warning.oga",
                         "message-new-instant.oga"};
            s.min_gap = 0.4;
            s.impulsive = false;   // some samples hold several tones
            s.captions = {"a notification sound plays {n} time{s}", "a computer alert chimes",
                          "notification sounds", "a message alert"};
            c.push_back(s);
        }
        {
            ClassInfo s;
            s.name = "camera";
            s.noun = "a camera";
            s.sound = SoundKind::Sample;
            s.samples = {"camera-shutter.oga"};
            s.min_gap = 0.4;
            s.impulsive = false;   // the shutter sample has an opening and a closing click
            s.captions = {"a camera shutter clicks {n} time{s}", "a camera takes a photo", "camera shutter",
                          "someone takes pictures"};
            c.push_back(s);
        }
        {
            ClassInfo s;
            s.name = "water";
            s.noun = "water";
            s.sound = SoundKind::Water;
            s.min_gap = 0.4;
            s.impulsive = false;   // continuous bed under the splashes
            s.captions = {"water drops splash {n} time{s}", "dripping water", "a drop falls into water",
                          "water splashing"};
            c.push_back(s);
        }
        {
            ClassInfo s;
            s.name = "engine";
            s.noun = "an engine";
            s.sound = SoundKind::Engine;
            s.min_gap = 0.6;
            s.impulsive = false;   // continuous engine hum under the revs
            s.captions = {"an engine revs {n} time{s}", "an engine idles and revs", "a motor running",
                          "engine revving"};
            c.push_back(s);
        }
        return c;
    }();
    return classes;
}

int class_index(const std::string& name) {
    const auto& classes = all_classes();
    for (size_t i = 0; i < classes.size(); ++i)
        if (classes[i].name == name) return int(i);
    std::ostringstream valid;
    for (size_t i = 0; i < classes.size(); ++i) valid << (i ? "," : "") << classes[i].name;
    fail(ErrorKind::Usage, "unknown class '", name, "' (valid: ", valid.str(), ")");
}

std::vector<int> parse_class_list(const std::string& list) {
    std::vector<int> ids;
    if (list.empty()) {
        for (size_t i = 0; i < all_classes().size(); ++i) ids.push_back(int(i));
        return ids;
    }
    std::set<int> seen;
    std::stringstream in(list);
    std::string name;
    while (std::getline(in, name, ',')) {
        V2A_CHECK(!name.empty(), Usage, "--classes '", list, "': empty class name");
        int id = -1;
        try {
            id = class_index(name);
        } catch (const Error& e) {
            fail(ErrorKind::Usage, "--classes '", list, "': ", e.what());
        }
        V2A_CHECK(seen.insert(id).second, Usage, "--classes '", list, "': class '", name, "' given twice");
        ids.push_back(id);
    }
    V2A_CHECK(!ids.empty(), Usage, "--classes '", list, "': no class given");
    return ids;
}

std::string freedesktop_sound_dir() { return "/usr/share/sounds/freedesktop/stereo"; }
std::string default_soundfont() { return "/usr/share/sounds/sf2/FluidR3_GM.sf2"; }

}  // namespace v2a::synth
